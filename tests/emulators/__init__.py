"""HTTP-level emulators of platforms that cannot run on the test machines (a Kubernetes API server)."""
