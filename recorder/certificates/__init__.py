"""A teacher's term statement and the term's 研修电子证书 (issue 16; seed 001, 五（二）2:
"指导教师与学员教师均可在每个学期末下载研修电子证书").

- :mod:`.figures` (pure): the term's figures per session and in total, from the same
  session records and the same statement computation as ``GET /people/{id}/statement``;
- :mod:`.codes` (pure): the certificate's verification code (an HMAC, 16 base32 letters);
- :mod:`.registry`: the issued certificates (SQLite, or PostgreSQL with ``--database-url``);
- :mod:`.sheets`: the statement as CSV (UTF-8 with BOM) and XLSX (openpyxl);
- :mod:`.pdf`: the one-page A4 certificate (reportlab, a CJK TrueType font embedded).
"""
