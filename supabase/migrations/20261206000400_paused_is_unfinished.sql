-- A paused interview (ended_by 'paused': the candidate will continue it later) is not
-- finished: progress counts it only once it ends. The view of 20261203000100 again, with
-- that one condition added (same columns, same order). Re-runnable.
drop view if exists public.user_progress;
create view public.user_progress
with (security_invoker = true)
as
with finished as (
  select
    i.user_id,
    i.ended_by,
    i.interview_date,
    f.feedback_data,
    f.feedback_data -> 'progress' -> 'now' as now
  from public.interviews i
  left join public.feedback f on f.interview_id = i.id
  where i.user_id is not null and i.ended_by is not null and i.ended_by <> 'paused'
)
select
  user_id,
  count(*)::integer as interviews_taken,
  count(*) filter (where ended_by = 'completed')::integer as interviews_completed,
  round(avg((feedback_data ->> 'overall_score')::numeric), 2) as average_score,
  max((feedback_data ->> 'overall_score')::numeric) as best_score,
  (array_agg((feedback_data ->> 'overall_score')::numeric order by interview_date desc)
    filter (where feedback_data ->> 'overall_score' is not null))[1] as latest_score,
  max(interview_date) as last_interview_at,
  (array_agg((now ->> 'fillers_per_100_words')::numeric order by interview_date desc)
    filter (where now ->> 'fillers_per_100_words' is not null))[1]
    as latest_fillers_per_100_words,
  round(avg((now ->> 'fillers_per_100_words')::numeric), 2) as average_fillers_per_100_words,
  (array_agg((now ->> 'words_per_minute')::numeric order by interview_date desc)
    filter (where now ->> 'words_per_minute' is not null))[1] as latest_words_per_minute,
  round(avg((now ->> 'words_per_minute')::numeric), 1) as average_words_per_minute,
  (array_agg((now ->> 'words_per_answer')::numeric order by interview_date desc)
    filter (where now ->> 'words_per_answer' is not null))[1] as latest_words_per_answer,
  round(avg((now ->> 'words_per_answer')::numeric), 1) as average_words_per_answer,
  (array_agg((now ->> 'point_coverage')::numeric order by interview_date desc)
    filter (where now ->> 'point_coverage' is not null))[1] as latest_point_coverage,
  round(avg((now ->> 'point_coverage')::numeric), 1) as average_point_coverage,
  coalesce(sum((now ->> 'complete_stories')::numeric), 0)::integer as complete_stories
from finished
group by user_id;

grant select on public.user_progress to authenticated;
revoke all on public.user_progress from anon;
