-- PostgreSQL's words for what 0015_web.sql says in SQLite's only: its trigger (the tables and indexes are
-- translated from 0015_web.sql itself). A household's forgotten words leave the desk's search with them.
CREATE FUNCTION submission_search_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM submission_search WHERE submission_id = NEW.id;
    RETURN NEW;
END
$$;
CREATE TRIGGER submission_search_forget AFTER UPDATE OF content ON submissions FOR EACH ROW
    WHEN (NEW.content IS NULL) EXECUTE FUNCTION submission_search_forget();
