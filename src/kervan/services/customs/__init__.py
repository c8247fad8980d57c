"""The Simplified Customs Corridor as use cases, one customs for one node or many.

What crosses a border is a signed message written to the outbox with the change it reports
(`sending.send`):
- the trade side lodges the pre-arrival declaration with every customs authority on the route
  when the cargo is taken over (`declaration.declare_pre_arrival`);
- a customs authority keeps what it receives (`handlers.receive_declaration`: the declaration
  and the crossings into its country; `handlers.receive_control`: another member state's
  control) and works its border from those records only: the work list
  (`worklist.work_list`), the arrival (`crossing.record_arrival`) and the release
  (`release.release`), which signs off a control for the customs still ahead;
- the trade side's handler puts each arrival and release on the shipment's timeline
  (`handlers.record_crossing`).
On one node every authority shares the store and its messages are delivered right after the
commit (`delivery`); `kervan node --authority X` runs the same handlers behind a broker.
"""
