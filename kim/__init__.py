"""KIM-Netz: the shared runtime (`kim.runtime`), the command line (`kim.cli`) and, generated
from `protos/` by `kim protos generate`, the contracts (`kim.<service>.v1`)."""
