"""The corridor observatory: KPIs from recorded events and a simulator for reforms and new
infrastructure on the same network the planner routes on.

Pure core: reads only its own package data (scenarios/) and files it is explicitly given.
"""
