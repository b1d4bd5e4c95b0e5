"""Steps the journey's end-to-end tests share: signing up through the bot, reading edits."""

from __future__ import annotations

from sqlalchemy import select

from bot.sandbox.client import ChatMessage
from storage.models import LifecycleEvent, Participant
from tests.e2e.harness import Person, Stack


async def edited(person: Person, message_id: int, *fragments: str) -> ChatMessage:
    """Wait until the bot has edited message `message_id` to show every fragment (in its
    text or on its buttons)."""

    def shows(message: ChatMessage) -> bool:
        seen = message.body + "\n" + "\n".join(message.button_labels)
        return message.id == message_id and all(fragment in seen for fragment in fragments)

    def done(messages: list[ChatMessage]) -> bool:
        return any(shows(m) for m in messages)

    messages = await person.client.wait_for(person.user_id, done)
    return next(m for m in messages if m.id == message_id)


async def sign_up_in_english(
    person: Person,
    *,
    name: str = "Lina",
    area: str = "Södertälje",
    topics: tuple[str, ...] = ("Work",),
    gender: str = "Woman",
    again: bool = False,
) -> ChatMessage:
    """The whole open sign-up, in English; the message that confirms it was sent.
    `again`: someone whose contact ended, or who withdrew, signs up once more."""
    await person.command("start")
    if again:
        await person.press("Sign up")
    await person.expect("Please choose your language")
    await person.press("English")
    await person.expect("How we handle your data")
    await person.press("Yes, I agree")
    await person.expect("What should we call you?")
    await person.say(name)
    await person.expect("Where do you live?")
    await person.press(area)
    await person.expect("What do you want help with?")
    for topic in topics:
        await person.press(topic)
    await person.press("Done")
    await person.expect("What is your gender?")
    await person.press(gender)
    await person.expect("Please check your answers")
    await person.press("Send my application")
    return await person.expect("Your application has been sent.")


async def participant_of(stack: Stack, telegram_user_id: int) -> Participant:
    async with stack.database.session() as session:
        found = (
            await session.scalars(
                select(Participant).where(Participant.telegram_user_id == telegram_user_id)
            )
        ).first()
        assert found is not None
        return found


async def lifecycle_of(stack: Stack, participant_id: int) -> list[LifecycleEvent]:
    async with stack.database.session() as session:
        return list(
            (
                await session.scalars(
                    select(LifecycleEvent)
                    .where(LifecycleEvent.participant_id == participant_id)
                    .order_by(LifecycleEvent.id)
                )
            ).all()
        )
