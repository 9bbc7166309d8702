"""From obligation to paid (DESIGN section 7): the overview, fulfillments and their payout files.

`records` reads fulfillments back and the claims they make on obligations; `overview` derives every
obligation's status at an as-of time and sums balances; `fulfillments` makes, completes, cancels
and exports them; `formats` writes the files byte for byte; `review` approves or rejects a
distribution waiting for review. The rules themselves are pure, in `engine/balances.py`.
"""
