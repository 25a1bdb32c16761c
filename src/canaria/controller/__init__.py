"""The control plane: phases and their legal transitions, one reconcile tick, operator actions."""
