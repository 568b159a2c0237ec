-- A local file link is served only while a message still has its object (GET /files/{key}):
-- the object itself is removed a little later, by the file-removal reactor, so the link must
-- ask the read table, not the disk. This makes that question an index lookup.
CREATE INDEX messages_by_file_key ON messages (s3_key) WHERE s3_key IS NOT NULL;
