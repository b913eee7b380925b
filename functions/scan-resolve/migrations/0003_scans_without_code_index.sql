-- Every scan is a row, and in a burst rows arrive at ~20 000/s; each index
-- is maintained on every insert. scans_code (credit_code, scanned_at)
-- served no query: the statistics filter a time range first (the primary
-- key) and group what is in it, so the index only cost PostgreSQL CPU the
-- public page needed.
DROP INDEX scan.scans_code;
