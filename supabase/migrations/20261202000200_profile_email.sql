-- A profile's email belongs to Supabase Auth, not to the user's own edits: a user who
-- could set it to someone else's address would make that person's sign-up fail on
-- users_email_key. Users may update their own name and avatar only; the email follows
-- auth.users when it changes there.

revoke update on public.users from authenticated;
grant update (full_name, avatar_url) on public.users to authenticated;

create or replace function public.handle_auth_user_email_change()
returns trigger
language plpgsql
security definer
set search_path = public
as $$
begin
  update public.users set email = new.email
    where id = new.id and email is distinct from new.email;
  return new;
end;
$$;

revoke all on function public.handle_auth_user_email_change() from public;
revoke all on function public.handle_auth_user_email_change() from anon, authenticated;

drop trigger if exists on_auth_user_email_changed on auth.users;
create trigger on_auth_user_email_changed
  after update of email on auth.users
  for each row execute function public.handle_auth_user_email_change();
