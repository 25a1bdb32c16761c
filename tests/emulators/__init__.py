"""Emulators of platforms that cannot run on the test machines (a Kubernetes API server, Google's Cloud Run and
Cloud Monitoring APIs), spoken to by the real clients."""
