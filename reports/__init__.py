"""Excel workbooks (openpyxl): the response report, lettershop manifests, call lists.

Every cell that comes from personal data is written as text, so values starting with = + - @ never
become formulas.
"""
