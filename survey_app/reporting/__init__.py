"""Score reports and exports: stored answers → `analysis` → what staff and assessors read.

- `campaign_report`: per unit and dimension of a campaign: n, 满意率, index, interval; and the coding of
  stored answers into the arrays `analysis` takes;
- `unit_report`: one unit in one campaign, explained (change, IPA, distributions, comments);
- `quality`: who answered against the targets, item non-response, reliability;
- `exports`: raw responses and scores as tables and files (CSV, XLSX, JSON).
"""
