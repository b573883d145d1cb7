"""Rules as data: the access model and default policy (Casbin), and later reactions and SLA rules."""
