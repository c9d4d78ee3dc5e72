"""The feature plugins that ``testfleet.plugin`` registers when a run asks for them.

Each is its own object, registered under its own name only when switched on
(as pytest registers its stepwise plugin only under ``--stepwise``), so a
plain ``pytest`` run carries none of them and each can be blocked with ``-p no:``.
"""
