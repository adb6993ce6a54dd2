{#- The counts of one safety_summary row over the AE records of its group (`ae` alias): subjects,
    events, and subjects with a serious, related or severe event. Subjects are counted once each. -#}
{% macro safety_ae_counts(ae='ae') -%}
    count(distinct {{ ae }}.USUBJID)::integer as N_SUBJ,
    count({{ ae }}.USUBJID)::integer as N_EVENTS,
    count(distinct {{ ae }}.USUBJID) filter (where {{ ae }}.AESER = 'Y')::integer as N_SUBJ_SERIOUS,
    count(distinct {{ ae }}.USUBJID) filter (where {{ ae }}.AREL = 'RELATED')::integer as N_SUBJ_RELATED,
    count(distinct {{ ae }}.USUBJID) filter (where {{ ae }}.AESEV = 'SEVERE')::integer as N_SUBJ_SEVERE
{%- endmacro %}
