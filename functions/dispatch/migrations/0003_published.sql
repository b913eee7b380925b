-- Published read functions of the dispatch schema (contracts: names,
-- columns and their meaning only ever grow). comms opens consult rooms for
-- an event (FP-151) and keeps the chat with it: it reads the event's title
-- and jurisdiction here, never dispatch's tables.
CREATE FUNCTION dispatch.event_brief(event_id uuid)
 RETURNS TABLE (id uuid, type text, title text, district text, township text, status text, created_at timestamptz)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $function$
    SELECT e.id, e.type, e.title, e.district, e.township, e.status, e.created_at
    FROM dispatch.events e
    WHERE e.id = event_id
$function$;
