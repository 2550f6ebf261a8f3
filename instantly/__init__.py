"""instantly."""
