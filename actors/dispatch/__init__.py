"""Placing calls on runners: slot accounting, the cluster-wide view of runner load, the dispatcher."""
