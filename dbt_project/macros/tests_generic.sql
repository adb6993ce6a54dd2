{#- Generic data tests shared by every layer (there is no dbt_utils here: no dbt hub). Each returns
    the offending rows. -#}

{#- Rows (meeting `where_clause`) where a SQL condition over the model's columns does not hold; a
    NULL result fails too. -#}
{% test expression_is_true(model, expression, where_clause=none, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% if where_clause %}and ({{ where_clause }}){% endif %}
{% endtest %}

{#- Combinations of `columns` that occur more than once among rows meeting `where_clause` (NULLs
    compare equal). -#}
{% test unique_combination(model, columns, where_clause=none, column_name=none) %}
select {{ columns | join(', ') }}, count(*) as N_ROWS
from {{ model }}
{% if where_clause %}where {{ where_clause }}{% endif %}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
