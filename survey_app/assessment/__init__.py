"""The annual assessment (年度考核): schemes, league tables, and periods sealed into snapshots.

- `schemes`: the scheme file format (how scores become points and grades), validated on load;
- `league`: a scheme applied to its campaigns' answers → scores, ranks, points, grades;
- `periods`: assessment periods opened, computed, sealed, corrected and verified byte for byte.
"""
