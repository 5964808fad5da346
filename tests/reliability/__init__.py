"""Reliability tests: faults, hostile answers and cancellation over real loopback HTTP."""
