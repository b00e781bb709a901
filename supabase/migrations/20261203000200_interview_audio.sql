-- Answers' recordings (docs/RECORDINGS.md): the private bucket `interview-audio`, one folder
-- per user (`<user_id>/<interview_id>/<NN>.wav`). The worker uploads with the service role;
-- a user may read and delete what is in their own folder (and upload there, as the wider
-- app's schema allows), nothing else. Re-runnable; skipped where Supabase Storage is absent.
do $$
begin
  if not exists (select 1 from pg_namespace where nspname = 'storage') then
    raise notice 'no storage schema: interview-audio bucket not created';
    return;
  end if;

  insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
  values ('interview-audio', 'interview-audio', false, 52428800,
          array['audio/wav', 'audio/mp3', 'audio/m4a'])
  on conflict (id) do nothing;

  drop policy if exists "Users can view their own audio" on storage.objects;
  create policy "Users can view their own audio" on storage.objects
    for select to authenticated
    using (bucket_id = 'interview-audio' and (storage.foldername(name))[1] = auth.uid()::text);

  drop policy if exists "Users can delete their own audio" on storage.objects;
  create policy "Users can delete their own audio" on storage.objects
    for delete to authenticated
    using (bucket_id = 'interview-audio' and (storage.foldername(name))[1] = auth.uid()::text);

  drop policy if exists "Users can upload their own audio" on storage.objects;
  create policy "Users can upload their own audio" on storage.objects
    for insert to authenticated
    with check (bucket_id = 'interview-audio'
                and (storage.foldername(name))[1] = auth.uid()::text);
end
$$;
