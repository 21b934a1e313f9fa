-- Which transparency-log entry published each scan.
ALTER TABLE scans ADD COLUMN log_index INTEGER;
