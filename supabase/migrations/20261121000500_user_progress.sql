-- Each user's progress (in the spirit of the seed's user_analytics), computed on read.
-- security_invoker makes the view run with the caller's rights, so the RLS of
-- interviews and feedback applies: a user sees only their own row.

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
where i.user_id is not null
group by i.user_id;

grant select on public.user_progress to authenticated;
revoke all on public.user_progress from anon;
