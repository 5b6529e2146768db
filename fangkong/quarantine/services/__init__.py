"""Quarantine services, split by topic: every state change, named as a verb, transactional and audited.

sites / placement (its public face: `place_contacts`, `vacate`, `cancel_placement`, and every placement name
re-exported from placement_requests, site_choice, booking, waitlist and pickup) / monitoring (readings,
self-report links, alerts), scheduled_tests (test days, results, the fever workflow's test, positive → case),
release (certificate and handover), home (community check-ins and violations). Import the topic module:
`from fangkong.quarantine.services import monitoring`.
"""
