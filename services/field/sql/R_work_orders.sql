-- The API's work order (docs/architecture.md, "Field service"), with its
-- checklist, sign-off and files. Repeatable (docs/adding-a-daemon.md,
-- "Migrations"): the current definition only.
CREATE OR REPLACE FUNCTION field.work_order_json(w field.work_orders) RETURNS json LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', w.id, 'title', w.title, 'description', w.description,
		'ticket_id', w.ticket_id,
		'location', json_build_object('lat', ST_Y(w.location::geometry),
			'lon', ST_X(w.location::geometry), 'address', w.address),
		'required_skills', w.required_skills,
		'window', json_build_object('start', field.ts(w.window_start), 'end', field.ts(w.window_end)),
		'priority', w.priority, 'status', w.status, 'technician_id', w.technician_id,
		'distance_km', w.distance_km, 'eta_minutes', w.eta_minutes, 'notes', w.notes,
		'checklist', COALESCE((SELECT json_agg(field.checklist_item_json(c) ORDER BY c.created_at, c.id)
			FROM field.checklist_items c WHERE c.tenant_id = w.tenant_id AND c.work_order_id = w.id),
			'[]'::json),
		'sign_off', CASE WHEN w.signed_by IS NULL THEN NULL ELSE json_build_object(
			'signed_by', w.signed_by, 'signed_at', field.ts(w.signed_at),
			'signature_attachment_id', w.signature_attachment_id) END,
		'attachment_ids', to_json(w.attachment_ids),
		'completed_at', field.ts(w.completed_at), 'created_by', w.created_by,
		'created_at', field.ts(w.created_at), 'updated_at', field.ts(w.updated_at),
		'version', w.version)
$$;
