"""Rules as data: the access model and default policy (Casbin); later reactions and SLA rules."""
