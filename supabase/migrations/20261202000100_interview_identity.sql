-- One identity per interview. The worker creates interviews.id when the job starts and
-- saves every version of the row through save_interview(), which:
--   * finds the row by id, never by room name, and never changes its user_id;
--   * applies a version only if its revision is higher than the stored one (at an equal
--     revision, an ended row replaces a live one), so older content never replaces newer:
--     a late checkpoint, a stale recovered orphan, computed feedback after the model's
--     assessment;
--   * saves a new interview whose room name another interview already holds under a
--     derived unique name (room_name || '~' || the first 8 characters of its id); the
--     real room name is in metadata.room_name;
--   * writes the interview and its feedback in one transaction.
-- A row whose ended_by is null is an interview in progress (saved while it runs).

alter table public.interviews add column if not exists revision bigint not null default 0;
alter table public.interviews add column if not exists updated_at timestamptz not null default now();
alter table public.interviews alter column ended_by drop not null;
alter table public.feedback add column if not exists revision bigint not null default 0;
alter table public.feedback add column if not exists updated_at timestamptz not null default now();

update public.interviews
  set metadata = jsonb_set(coalesce(metadata, '{}'::jsonb), '{room_name}', to_jsonb(room_name))
  where metadata ->> 'room_name' is null;

create index if not exists idx_interviews_real_room
  on public.interviews ((metadata ->> 'room_name'));

create or replace function public.save_interview(p_interview jsonb, p_feedback jsonb default null)
returns jsonb
language plpgsql
security definer
set search_path = public
as $$
declare
  v_new public.interviews;
  v_cur record;
  v_room text;
  v_applied boolean := true;
  v_attempt integer := 0;
begin
  v_new := jsonb_populate_record(null::public.interviews, p_interview);
  if v_new.id is null or v_new.room_name is null or (p_interview ->> 'revision') is null then
    raise exception 'save_interview: id, revision and room_name are required'
      using errcode = '22023';
  end if;
  loop
    v_attempt := v_attempt + 1;
    select id, user_id, revision, room_name, ended_by into v_cur
      from public.interviews where id = v_new.id for update;
    if found then
      if v_cur.user_id is distinct from v_new.user_id then
        raise exception 'interview % belongs to another user', v_new.id using errcode = '42501';
      end if;
      v_room := v_cur.room_name;
      if v_cur.revision > v_new.revision
         or (v_cur.revision = v_new.revision
             and not (v_cur.ended_by is null and v_new.ended_by is not null)) then
        v_applied := false;
      else
        update public.interviews set
          revision = v_new.revision,
          candidate_name = v_new.candidate_name,
          interview_date = v_new.interview_date,
          job_role = v_new.job_role,
          experience_level = v_new.experience_level,
          final_stage = v_new.final_stage,
          ended_by = v_new.ended_by,
          skipped_stages = coalesce(v_new.skipped_stages, '[]'::jsonb),
          has_resume = coalesce(v_new.has_resume, false),
          has_jd = coalesce(v_new.has_jd, false),
          conversation = v_new.conversation,
          total_messages = v_new.total_messages,
          metadata = coalesce(v_new.metadata, '{}'::jsonb),
          updated_at = now()
        where id = v_new.id;
      end if;
      exit;
    end if;
    v_room := v_new.room_name;
    if exists (select 1 from public.interviews where room_name = v_room) then
      v_room := left(v_new.room_name, 246) || '~' || left(v_new.id::text, 8);
      if exists (select 1 from public.interviews where room_name = v_room) then
        v_room := left(v_new.room_name, 218) || '~' || replace(v_new.id::text, '-', '');
      end if;
    end if;
    begin
      insert into public.interviews (
        id, revision, user_id, candidate_name, interview_date, room_name, job_role,
        experience_level, final_stage, ended_by, skipped_stages, has_resume, has_jd,
        conversation, total_messages, metadata, created_at, updated_at
      ) values (
        v_new.id, v_new.revision, v_new.user_id, v_new.candidate_name,
        coalesce(v_new.interview_date, now()), v_room, v_new.job_role,
        v_new.experience_level, v_new.final_stage, v_new.ended_by,
        coalesce(v_new.skipped_stages, '[]'::jsonb), coalesce(v_new.has_resume, false),
        coalesce(v_new.has_jd, false), v_new.conversation, v_new.total_messages,
        coalesce(v_new.metadata, '{}'::jsonb), now(), now()
      );
      exit;
    exception when unique_violation then
      -- the same id or the same room name was inserted meanwhile: look again
      if v_attempt >= 3 then
        raise;
      end if;
    end;
  end loop;

  if p_feedback is not null then
    insert into public.feedback (interview_id, user_id, feedback_data, revision, updated_at)
    values (v_new.id, v_new.user_id, p_feedback -> 'feedback_data', v_new.revision, now())
    on conflict (interview_id) do update set
      feedback_data = excluded.feedback_data,
      revision = excluded.revision,
      updated_at = now()
    where public.feedback.revision < excluded.revision;
  end if;

  return jsonb_build_object('id', v_new.id, 'room_name', v_room, 'applied', v_applied);
end;
$$;

revoke all on function public.save_interview(jsonb, jsonb) from public;
revoke all on function public.save_interview(jsonb, jsonb) from anon, authenticated;
grant execute on function public.save_interview(jsonb, jsonb) to service_role;

-- Progress counts finished interviews only (a row with ended_by null is still running).
-- dropped first: a later migration gives the view more columns, and applying these files
-- again must not fail on them ("cannot drop columns from view")
drop view if exists public.user_progress;
create view public.user_progress
with (security_invoker = true)
as
select
  i.user_id,
  count(*)::integer as interviews_taken,
  count(*) filter (where i.ended_by = 'completed')::integer as interviews_completed,
  round(avg((f.feedback_data ->> 'overall_score')::numeric), 2) as average_score,
  max((f.feedback_data ->> 'overall_score')::numeric) as best_score,
  (array_agg((f.feedback_data ->> 'overall_score')::numeric order by i.interview_date desc)
    filter (where f.feedback_data ->> 'overall_score' is not null))[1] as latest_score,
  max(i.interview_date) as last_interview_at
from public.interviews i
left join public.feedback f on f.interview_id = i.id
where i.user_id is not null and i.ended_by is not null
group by i.user_id;

grant select on public.user_progress to authenticated;
revoke all on public.user_progress from anon;
