"""e2e tier: whole nodes as the processes an operator runs (`kim node api`, `kim node worker`),
on the real local servers, checked from outside through gRPC."""
