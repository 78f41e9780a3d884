"""The bad-rating loop (差评闭环): a bad rating opens a case for its unit, which calls back and fixes or explains.

- `workflow`: opening cases, moving them through their states, replies, the resident's call-back number;
- `records`: what the staff list, the case page and a receipt code show;
- `figures`: call-back, on-time and rectified rates per unit over a period;
- `appeals`: a unit's request to exclude a mistaken or malicious rating, and its review;
- `workdays`: deadlines in working days on China's official calendar.
"""
