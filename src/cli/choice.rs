//! Command-line values picked from the core's closed sets ([`Choice`]), with their names and
//! descriptions in `--help` and in completions.

use clap::builder::{PossibleValue, TypedValueParser};
use std::marker::PhantomData;
use tailpulse_core::choice::Choice;

/// Parses a `T` by name, listing every name in `--help`.
#[derive(Clone)]
pub struct ChoiceParser<T>(PhantomData<T>);

/// The parser of `T` for `#[arg(value_parser = choice::<T>())]`.
pub fn choice<T: Choice>() -> ChoiceParser<T> {
    ChoiceParser(PhantomData)
}

impl<T: Choice + Send + Sync> TypedValueParser for ChoiceParser<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let names = clap::builder::PossibleValuesParser::new(self.possible_values_vec());
        let name = names.parse_ref(cmd, arg, value)?;
        Ok(T::from_name(&name).expect("a name among the possible values"))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.possible_values_vec().into_iter()))
    }
}

impl<T: Choice> ChoiceParser<T> {
    fn possible_values_vec(&self) -> Vec<PossibleValue> {
        T::CHOICES
            .iter()
            .map(|(name, help, _)| PossibleValue::new(*name).help(*help))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tailpulse_core::lang::Lang;

    #[test]
    fn names_are_parsed_and_others_refused_with_the_list() {
        let cmd = clap::Command::new("t").arg(
            clap::Arg::new("lang")
                .long("lang")
                .value_parser(choice::<Lang>()),
        );
        let m = cmd
            .clone()
            .try_get_matches_from(["t", "--lang", "ko"])
            .unwrap();
        assert_eq!(m.get_one::<Lang>("lang"), Some(&Lang::Ko));
        let e = cmd.try_get_matches_from(["t", "--lang", "fr"]).unwrap_err();
        assert!(e.to_string().contains("[possible values: en, ko]"), "{e}");
    }
}
