"""The report wing: judges every claim of the paper on what a reproduction's steps left (claims, measurements,
preconditions, verdicts), then writes the report (opening, sections, page, what would settle the undecided claims).
It reads the plan and its ledger (infodropout.paper.reproduction) and the steps' files; it imports no experiment."""
