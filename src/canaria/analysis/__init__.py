"""Pure analysis: window data in, verdict out. No I/O, no clock."""
