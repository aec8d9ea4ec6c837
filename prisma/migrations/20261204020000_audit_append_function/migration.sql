-- Appends a batch of audit events to the hash chain in one call (lib/audit/chain.ts).
-- The chain lock is then held only inside the database, for the length of this function and
-- its transaction's commit, instead of across a client round trip.
--
-- batch: a JSON array of [id, serialized] pairs, in chain order. `serialized` is the event's
-- serializedFields (lib/audit/hash.ts): the canonical JSON of its fields joined by commas. The
-- stored columns are read back from that text, so a row holds exactly what its hash covers.
-- The hash is the one computeAuditHash defines (the JS verifier recomputes it):
--   sha256(prevHash || '\n' || '["frontdesk.audit.v1","<seq>",<id as JSON>,"<at ISO, ms, Z>",<serialized>]')
-- Must stay VOLATILE: under READ COMMITTED each statement of a volatile function takes a new
-- snapshot, so the tail read after the lock sees the previous holder's committed rows.
CREATE FUNCTION frontdesk_audit_append(batch jsonb)
RETURNS TABLE (appended_seq bigint, appended_hash text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  tail_seq bigint;
  prev text;
  tail_at timestamp(3);
  at_ts timestamp(3);
  at_text text;
  ids text[];
  fields text[];
  prevs text[] := '{}';
  hashes text[] := '{}';
  n int;
BEGIN
  SELECT array_agg(e->>0 ORDER BY o), array_agg(e->>1 ORDER BY o) INTO ids, fields
  FROM jsonb_array_elements(batch) WITH ORDINALITY AS x(e, o);
  n := coalesce(array_length(ids, 1), 0);
  IF n = 0 THEN RETURN; END IF;

  -- The lock key is AUDIT_CHAIN_LOCK (ASCII "FDAUDIT").
  PERFORM pg_advisory_xact_lock(19778295763847508);
  SELECT a.seq, a.hash, a.at INTO tail_seq, prev, tail_at FROM "AuditEvent" a ORDER BY a.seq DESC LIMIT 1;
  tail_seq := coalesce(tail_seq, 0);
  prev := coalesce(prev, repeat('0', 64));
  -- One clock for every instance, and time never goes backwards along the chain.
  at_ts := greatest(date_trunc('milliseconds', clock_timestamp() AT TIME ZONE 'UTC'), tail_at);
  at_text := to_char(at_ts, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

  FOR i IN 1..n LOOP
    prevs[i] := prev;
    prev := encode(sha256(convert_to(
      prev || E'\n["frontdesk.audit.v1","' || (tail_seq + i) || '",' || to_json(ids[i])::text || ',"' || at_text || '",' || fields[i] || ']',
      'UTF8')), 'hex');
    hashes[i] := prev;
  END LOOP;

  -- serialized = actorType, actorId, userId, gatewayId, providerId, action, decision, reason,
  -- context, requestId[, ["agentId", agentId]] (serializedFields' order).
  INSERT INTO "AuditEvent" (seq, id, at, "actorType", "actorId", "userId", "gatewayId", "providerId",
                            action, decision, reason, context, "requestId", "agentId", "prevHash", hash)
  SELECT tail_seq + r.i, r.id, at_ts, f->>0, f->>1, f->>2, f->>3, f->>4, f->>5, (f->>6)::"Decision", f->>7, f->8, f->>9,
         f->10->>1, r.prev, r.hash
  FROM unnest(ids, fields, prevs, hashes) WITH ORDINALITY AS r(id, serialized, prev, hash, i)
  CROSS JOIN LATERAL (SELECT ('[' || r.serialized || ']')::jsonb AS f) AS parsed;

  RETURN QUERY SELECT tail_seq + r.i, r.hash FROM unnest(hashes) WITH ORDINALITY AS r(hash, i) ORDER BY r.i;
END $$;
