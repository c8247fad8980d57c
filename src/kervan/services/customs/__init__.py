"""The Simplified Customs Corridor as use cases, one customs for one node or many.

What crosses a border is a signed message written to the outbox with the change it reports:
the trade side lodges the pre-arrival declaration with every customs authority on the route
(`declaration.declare_pre_arrival`); a customs authority keeps what it receives
(`messages.receive_declaration`, `messages.receive_control`) and works its border from those
records (`worklist.work_list`, `release.release`); release signs off a control result for the
customs ahead and tells the trade side, whose handler records it on the shipment's timeline
(`messages.record_crossing`). On one node every authority shares the store and the messages are
delivered right after the commit (`delivery`); `kervan node --authority X` runs the same
handlers (`messages.message_handler`) behind a broker.
"""
