"""The `kim` command line of operators and developers: running nodes on one machine
(`kim node ...`), the contracts' code generation, the development login and the federated demo
(`kim demo`, `kim story`). Built on `kimnetz`; nothing in `kimnetz` or `services` imports it."""
