-- Start-up compares the highest published log index with the log's size: an index lookup.
CREATE INDEX artifacts_by_log_index ON artifacts(log_index);
CREATE INDEX scans_by_log_index ON scans(log_index);
