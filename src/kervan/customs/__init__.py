"""The Simplified Customs Corridor core: offices, pre-arrival declarations, risk rules and
lanes, border crossing records, mutual recognition of controls, TIR operations and e-Permit
control. Pure: no I/O but its own rule files, no clock (times come in as arguments)."""
