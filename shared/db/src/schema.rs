// Diesel schema for the tables in ../../migrations. Kept in step by `tests/tests/schema.rs`, which compares it with
// the migrated database's columns.

diesel::table! {
    companies (id) {
        id -> Uuid,
        user_id -> Text,
        name -> Text,
        board_kind -> Text,
        board_token -> Text,
        created_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        expiry_held_at -> Nullable<Timestamptz>,
        expiry_held_listed -> Nullable<Int4>,
        listed_at -> Nullable<Timestamptz>,
        listed_count -> Nullable<Int4>,
        listing_etag -> Nullable<Text>,
        listing_last_modified -> Nullable<Text>,
        normalized_with -> Int2,
        board_region -> Text,
    }
}

diesel::table! {
    runs (id) {
        id -> Uuid,
        user_id -> Text,
        status -> Text,
        stage -> Nullable<Text>,
        counts -> Jsonb,
        error -> Nullable<Text>,
        abort_requested_at -> Nullable<Timestamptz>,
        lease_owner -> Nullable<Uuid>,
        lease_until -> Nullable<Timestamptz>,
        attempts -> Int4,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        log_ms -> Int8,
        started_by -> Text,
        due_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    run_events (id) {
        id -> Int8,
        run_id -> Uuid,
        at -> Timestamptz,
        level -> Text,
        stage -> Nullable<Text>,
        message -> Text,
        data -> Nullable<Jsonb>,
        ms -> Int8,
    }
}

diesel::table! {
    run_companies (run_id, company_id) {
        run_id -> Uuid,
        company_id -> Uuid,
        extract_status -> Text,
        error -> Nullable<Text>,
        found -> Int4,
        inserted -> Int4,
        updated -> Int4,
        unchanged -> Int4,
        expired -> Int4,
        ready -> Int4,
        failed -> Int4,
        completed_at -> Timestamptz,
        expiry_held -> Int4,
        expiry_held_reason -> Nullable<Text>,
        not_modified -> Bool,
    }
}

diesel::table! {
    postings (id) {
        id -> Int8,
        user_id -> Text,
        company_id -> Uuid,
        external_id -> Text,
        run_id -> Uuid,
        status -> Text,
        content_hash -> Bytea,
        title -> Text,
        url -> Nullable<Text>,
        raw -> Json,
        location -> Nullable<Text>,
        remote -> Nullable<Bool>,
        department -> Nullable<Text>,
        employment_type -> Nullable<Text>,
        compensation -> Nullable<Text>,
        description -> Nullable<Text>,
        posted_at -> Nullable<Timestamptz>,
        source_updated_at -> Nullable<Timestamptz>,
        ingest_error -> Nullable<Text>,
        first_seen_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        content_changed_at -> Timestamptz,
        expired_at -> Nullable<Timestamptz>,
        first_run_id -> Uuid,
        unlisted_since -> Nullable<Timestamptz>,
        pay_min -> Nullable<Float8>,
        pay_max -> Nullable<Float8>,
        pay_currency -> Nullable<Text>,
        pay_interval -> Nullable<Text>,
    }
}

diesel::table! {
    posting_changes (posting_id, run_id, change) {
        posting_id -> Int8,
        run_id -> Uuid,
        change -> Text,
        at -> Timestamptz,
    }
}

diesel::table! {
    schedules (user_id) {
        user_id -> Text,
        every_hours -> Nullable<Int4>,
        cron -> Nullable<Text>,
        time_zone -> Text,
        next_due_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    schedule_skips (user_id, due_at) {
        user_id -> Text,
        due_at -> Timestamptz,
        active_run_id -> Uuid,
    }
}

diesel::table! {
    llm_batches (job_id, seq) {
        job_id -> Uuid,
        seq -> Int4,
        batch_id -> Text,
        input_file_id -> Text,
        first_item -> Int4,
        last_item -> Int4,
        items -> Int4,
        input_bytes -> Int8,
        expires_at -> Timestamptz,
        pushed_at -> Nullable<Timestamptz>,
        outcome -> Nullable<Text>,
        output_file_id -> Nullable<Text>,
        error_file_id -> Nullable<Text>,
        error -> Nullable<Text>,
        output_lines_applied -> Int8,
        error_lines_applied -> Int8,
        files_applied -> Int2,
        created_at -> Timestamptz,
        done_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    llm_jobs (id) {
        id -> Uuid,
        user_id -> Text,
        name -> Text,
        model -> Text,
        instructions -> Text,
        mode -> Text,
        status -> Text,
        items_total -> Int4,
        items_pending -> Int4,
        items_submitted -> Int4,
        items_completed -> Int4,
        items_failed -> Int4,
        items_cancelled -> Int4,
        items_expired -> Int4,
        flags_applied -> Int4,
        input_file_id -> Nullable<Text>,
        batch_id -> Nullable<Text>,
        next_poll_at -> Timestamptz,
        poll_budget -> Int4,
        lease_owner -> Nullable<Uuid>,
        lease_until -> Nullable<Timestamptz>,
        cancel_requested_at -> Nullable<Timestamptz>,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        resolved_at -> Nullable<Timestamptz>,
        batch_expires_at -> Nullable<Timestamptz>,
        screen_id -> Nullable<Uuid>,
        run_id -> Nullable<Uuid>,
        ends_pushed -> Int4,
        ends_polled -> Int4,
        batch_pushed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    screens (id) {
        id -> Uuid,
        user_id -> Text,
        name -> Text,
        instructions -> Text,
        model -> Text,
        mode -> Text,
        created_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    llm_job_items (job_id, item_id) {
        job_id -> Uuid,
        item_id -> Int4,
        entity_kind -> Text,
        entity_id -> Int8,
        status -> Text,
        response_id -> Nullable<Text>,
        attempts -> Int4,
        submitted_at -> Nullable<Timestamptz>,
        last_polled_at -> Nullable<Timestamptz>,
        completed_at -> Nullable<Timestamptz>,
        output_text -> Nullable<Text>,
        decision -> Nullable<Jsonb>,
        error -> Nullable<Text>,
        last_error -> Nullable<Text>,
        pushed_at -> Nullable<Timestamptz>,
        learnt_by -> Nullable<Text>,
        input_tokens -> Nullable<Int4>,
        cached_input_tokens -> Nullable<Int4>,
        output_tokens -> Nullable<Int4>,
        reasoning_tokens -> Nullable<Int4>,
        cost_usd -> Nullable<Float8>,
        batch_seq -> Nullable<Int4>,
    }
}

diesel::table! {
    entity_flags (entity_kind, entity_id, job_id) {
        entity_kind -> Text,
        entity_id -> Int8,
        job_id -> Uuid,
        user_id -> Text,
        flag -> Bool,
        label -> Text,
        reason -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    message_failures (message_id) {
        message_id -> Text,
        queue -> Text,
        receive_count -> Int4,
        retryable -> Bool,
        reason -> Text,
        first_failed_at -> Timestamptz,
        last_failed_at -> Timestamptz,
    }
}

diesel::table! {
    llm_job_loops (job_id) {
        job_id -> Uuid,
        token -> Uuid,
        idle_polls -> Int4,
    }
}

diesel::table! {
    llm_job_usage (job_id) {
        job_id -> Uuid,
        input_tokens -> Int8,
        cached_input_tokens -> Int8,
        output_tokens -> Int8,
        reasoning_tokens -> Int8,
        cost_usd -> Float8,
        items_unpriced -> Int4,
    }
}

diesel::table! {
    webhook_events (webhook_id) {
        webhook_id -> Text,
        event_id -> Text,
        event_type -> Text,
        object_id -> Text,
        job_id -> Nullable<Uuid>,
        received_at -> Timestamptz,
    }
}

diesel::joinable!(run_events -> runs (run_id));
diesel::joinable!(run_companies -> runs (run_id));
diesel::joinable!(run_companies -> companies (company_id));
diesel::joinable!(postings -> companies (company_id));
diesel::joinable!(posting_changes -> postings (posting_id));

diesel::joinable!(llm_job_items -> llm_jobs (job_id));
diesel::joinable!(entity_flags -> llm_jobs (job_id));
diesel::joinable!(llm_jobs -> screens (screen_id));
diesel::joinable!(llm_job_usage -> llm_jobs (job_id));
diesel::joinable!(llm_job_loops -> llm_jobs (job_id));
diesel::joinable!(llm_batches -> llm_jobs (job_id));

diesel::allow_tables_to_appear_in_same_query!(
    companies,
    runs,
    run_events,
    run_companies,
    postings,
    posting_changes,
    schedules,
    schedule_skips,
    screens,
    llm_jobs,
    llm_job_items,
    llm_job_usage,
    llm_job_loops,
    llm_batches,
    entity_flags,
    message_failures,
    webhook_events
);
