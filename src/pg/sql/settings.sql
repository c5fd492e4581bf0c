-- The settings named in $1 (text[]).
SELECT name, setting, unit FROM pg_settings WHERE name = ANY ($1) ORDER BY name
