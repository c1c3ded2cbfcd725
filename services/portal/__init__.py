"""The portal: the web application every node serves next to its api (issue 16, docs/portal.md).

A backend-for-frontend: it renders German, accessible HTML (KERN UX) and calls its node's gRPC
apis with the logged-in person's access token, so every permission stays in the services. It
imports no other service, only the generated contracts `kim.*.v1` and `kimnetz`.
"""
