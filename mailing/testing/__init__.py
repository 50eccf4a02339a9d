"""Data builders shared by tests and benchmarks (bench/ never imports tests/): they fill a store
straight with realistic campaigns, without the producer or the scanner."""
