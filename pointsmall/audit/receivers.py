"""Record every change of power as a ``PrivilegeChange`` (docs/decisions/0053-audit-trail.md).

Signals, not the admin forms: a grant made in the admin, a shell, a migration or a management
command is recorded the same way. The actor is the signed-in user of the request being served
(the request simple-history's middleware keeps for its own ``history_user``), none outside one.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_save, pre_delete, pre_save
from simple_history.models import HistoricalRecords

from accounts.signals import privilege_flags_updated
from pointsmall.audit.models import PiiReveal, PrivilegeChange, PrivilegeField
from pointsmall.kernel.pii import pii_revealed

FLAGS = (PrivilegeField.IS_STAFF, PrivilegeField.IS_SUPERUSER)


def _actor_id() -> int | None:
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None


def _user_label(user: Any) -> str:
    return str(getattr(user, "email", "") or user.get_username() or user.pk)[:254]


def user_flags_remember(sender, instance, raw: bool = False, update_fields=None, **kwargs) -> None:
    """pre_save: keep the flags as stored, unless the save can't touch them (a login's last_login)."""
    if raw or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(FLAGS):
        return
    stored = sender._default_manager.filter(pk=instance.pk).values(*FLAGS).first()
    instance._audit_flags = stored


def user_flags_record(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """post_save: one row per flag that changed; a user created as staff or superuser counts."""
    if raw:
        return
    if created:
        before: dict | None = dict.fromkeys(FLAGS, False)
    else:
        before = instance.__dict__.pop("_audit_flags", None)
    if before is None:
        return
    actor_id = _actor_id()
    PrivilegeChange.objects.bulk_create(
        PrivilegeChange(
            user_id=instance.pk,
            subject=_user_label(instance),
            field=flag,
            old=before[flag],
            new=getattr(instance, flag),
            actor_id=actor_id,
        )
        for flag in FLAGS
        if before[flag] != getattr(instance, flag)
    )


def _permission_names(permissions) -> list[str]:
    return sorted(f"{app}.{code}" for app, code in permissions.values_list("content_type__app_label", "codename"))


def _names(model, pks) -> list[str]:
    if model is Permission:
        return _permission_names(Permission.objects.filter(pk__in=pks))
    return sorted(model._default_manager.filter(pk__in=pks).values_list("name", flat=True))


def _attribute(field: str) -> str:
    """The model's m2m field behind a PrivilegeField: a group's permissions are ``permissions``."""
    return "permissions" if field == PrivilegeField.GROUP_PERMISSIONS else field


def _current(owner, field: str) -> list[str]:
    related = getattr(owner, _attribute(field)).all()
    if related.model is Permission:
        return _permission_names(related)
    return sorted(related.values_list("name", flat=True))


def _record_set_change(owner, field: str, action: str, changed: list[str]) -> None:
    """One row for one owner: the set after the change, and the set before it."""
    now = _current(owner, field)
    if action == "post_clear":
        old = owner.__dict__.pop(f"_audit_{field}", [])
    elif action == "post_add":
        old = sorted(set(now) - set(changed))
    else:  # post_remove
        old = sorted(set(now) | set(changed))
    _record_change(owner, field, old, now)


def _set_changed(field: str, owner_model, related_model):
    """An m2m_changed receiver for ``owner_model.<field>``, either side of the relation."""

    def receiver(sender, instance, action: str, reverse: bool, model, pk_set, **kwargs) -> None:
        if not action.startswith(("pre_clear", "post_")):
            return
        if not reverse:
            owners = [instance]
            changed = _names(related_model, pk_set or ())
        else:
            # group.user_set.add(user): the users are the owners whose sets changed.
            changed = _names(related_model, [instance.pk])
            if action == "pre_clear":  # group.user_set.clear(): remember who is about to leave
                instance._audit_leaving = list(owner_model._default_manager.filter(**{_attribute(field): instance.pk}))
                return
            if action == "post_clear":
                for owner in instance.__dict__.pop("_audit_leaving", []):
                    _record_set_change(owner, field, "post_remove", changed)
                return
            owners = list(owner_model._default_manager.filter(pk__in=pk_set or ()))
        if action == "pre_clear":
            for owner in owners:
                setattr(owner, f"_audit_{field}", _current(owner, field))
            return
        if action in ("post_add", "post_remove") and not pk_set:
            return
        for owner in owners:
            _record_set_change(owner, field, action, changed)

    receiver.__name__ = f"record_{field}"
    return receiver


def flags_updated_record(sender, changes: list[dict], **kwargs) -> None:
    """accounts' ``privilege_flags_updated``: a ``QuerySet.update()`` changed staff or superuser
    flags; one row per user and flag, as a save would have written."""
    actor_id = _actor_id()
    PrivilegeChange.objects.bulk_create(PrivilegeChange(**change, actor_id=actor_id) for change in changes)


def group_delete_record(sender, instance: Group, **kwargs) -> None:
    """pre_delete of a group: the deletion cascades to its memberships and permissions without an
    m2m_changed signal, so record here what each member loses (their groups before → after) and
    the group's own permissions (before → none). Runs inside the deletion's transaction."""
    user_model = get_user_model()
    for user in user_model._default_manager.filter(groups=instance).order_by("pk"):
        old = _current(user, PrivilegeField.GROUPS)
        _record_change(user, PrivilegeField.GROUPS, old, [name for name in old if name != instance.name])
    old = _current(instance, PrivilegeField.GROUP_PERMISSIONS)
    _record_change(instance, PrivilegeField.GROUP_PERMISSIONS, old, [])


def permission_delete_record(sender, instance: Permission, **kwargs) -> None:
    """pre_delete of a permission (also when its content type is deleted): every user and group
    holding it loses it without an m2m_changed signal; record each loss."""
    name = _permission_names(Permission.objects.filter(pk=instance.pk))
    user_model = get_user_model()
    for owner, field in (
        *(
            (user, PrivilegeField.USER_PERMISSIONS)
            for user in user_model._default_manager.filter(user_permissions=instance)
        ),
        *((group, PrivilegeField.GROUP_PERMISSIONS) for group in Group.objects.filter(permissions=instance)),
    ):
        old = _current(owner, field)
        _record_change(owner, field, old, [held for held in old if held not in name])


def _record_change(owner, field: str, old: list[str], new: list[str]) -> None:
    if old == new:
        return
    is_group = isinstance(owner, Group)
    PrivilegeChange.objects.create(
        user_id=None if is_group else owner.pk,
        group_id=owner.pk if is_group else None,
        subject=owner.name[:254] if is_group else _user_label(owner),
        field=field,
        old=old,
        new=new,
        actor_id=_actor_id(),
    )


def pii_reveal_record(
    sender, *, actor_id: int, user_id: int | None, target: str, object_id: str, fields: list[str], reason: str, **kwargs
) -> None:
    """The kernel's ``pii_revealed``: one row per reveal (a full export sends one per record)."""
    PiiReveal.objects.create(
        actor_id=actor_id, user_id=user_id, target=target, object_id=object_id, fields=fields, reason=reason[:200]
    )


_RECEIVERS: list = []


def connect() -> None:
    """Connect the receivers (AuditConfig.ready). Safe to call twice."""
    if _RECEIVERS:
        return
    user_model = get_user_model()
    pre_save.connect(user_flags_remember, sender=user_model, dispatch_uid="audit_user_flags_remember")
    post_save.connect(user_flags_record, sender=user_model, dispatch_uid="audit_user_flags_record")
    privilege_flags_updated.connect(flags_updated_record, dispatch_uid="audit_flags_updated_record")
    pii_revealed.connect(pii_reveal_record, dispatch_uid="audit_pii_reveal_record")
    pre_delete.connect(group_delete_record, sender=Group, dispatch_uid="audit_group_delete_record")
    pre_delete.connect(permission_delete_record, sender=Permission, dispatch_uid="audit_permission_delete_record")
    for through, field, owner_model, related_model in (
        (user_model.groups.through, PrivilegeField.GROUPS, user_model, Group),
        (user_model.user_permissions.through, PrivilegeField.USER_PERMISSIONS, user_model, Permission),
        (Group.permissions.through, PrivilegeField.GROUP_PERMISSIONS, Group, Permission),
    ):
        receiver = _set_changed(str(field), owner_model, related_model)
        _RECEIVERS.append(receiver)  # the signal holds receivers weakly
        m2m_changed.connect(receiver, sender=through, dispatch_uid=f"audit_{field}")
