"""What tests and benchmarks share: the real data as records (``realdata``) and the load harness
that drives ``driftgate serve`` with concurrent clients (``load``) and audits what was stored
(``audit``). Neither tests/ nor benchmarks/ imports the other's modules; both import these."""
