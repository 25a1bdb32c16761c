"""HTTP/gRPC-level fakes of platforms that cannot run on the test machines, spoken to by the real clients."""
