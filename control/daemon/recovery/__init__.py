"""Gap recovery and late join for the daemon (docs/recovery.md): the MoldUDP64
re-request client, the GLIMPSE snapshot client, the policy that drives them
(manager.py) and the model card's data path they recover (feedcard.py)."""
