"""Quarantine services, split by topic: every state change, named as a verb, transactional and audited.

sites / placement (rooms, waitlist, pickups), monitoring (readings, self-report links, alerts),
scheduled_tests (test days, results, the fever workflow's test, positive → case), release (certificate and
handover), home (community check-ins and violations). Import the topic module: `from fangkong.quarantine.services
import monitoring`.
"""
