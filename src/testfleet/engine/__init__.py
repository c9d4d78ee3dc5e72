"""Run collected items on local worker processes and relay their reports.

``controller`` decides (pure state machine), ``processes`` forks and talks to
workers over pipes, ``worker`` runs pytest's runtest protocol in a worker, and
``relay`` re-emits a worker's reports through the controller's pytest hooks.
"""
