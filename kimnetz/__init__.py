"""KIM-Netz's shared runtime (`kimnetz.runtime`), the composition root (`kimnetz.bootstrap`) and the
small pure rules every service shares (`errors`, `identifiers`, `disclosure`).

The contracts generated from `protos/` are the package `kim` (`kim.<service>.v1`); the operator's
command line, the demo and the development login are `kimctl`."""
