using Pipeline.Functions.Transactions;

namespace Pipeline.Functions.Tests.Domain;

public sealed class CheckDigitsTests
{
    [Theory]
    [InlineData("HWUPKR0MPOU8FGXBT394")] // Apple Inc.
    [InlineData("7LTWFZYICNSX8D621K86")] // Deutsche Bank AG
    [InlineData("5493001KJTIIGC8Y1R12")]
    public void IsValidLei_RealLei_True(string lei) => Assert.True(CheckDigits.IsValidLei(lei));

    [Theory]
    [InlineData("HWUPKR0MPOU8FGXBT395")] // check digit changed
    [InlineData("HWUPKR0MPOU8FGXBT39")] // 19 characters
    [InlineData("hwupkr0mpou8fgxbt394")] // lowercase
    [InlineData("HWUPKR0MPOU8FGXBT3A4")] // letter in the check digits
    [InlineData("5493001KJTIIGC8Y1R00")]
    public void IsValidLei_Corrupted_False(string lei) => Assert.False(CheckDigits.IsValidLei(lei));

    [Fact]
    public void LeiCheckDigits_Prefix_ComputesTheRegisteredDigits() =>
        Assert.Equal("94", CheckDigits.LeiCheckDigits("HWUPKR0MPOU8FGXBT3"));

    [Theory]
    [InlineData("US0378331005")] // Apple
    [InlineData("US5949181045")] // Microsoft
    [InlineData("DE0007164600")] // SAP
    [InlineData("GB0002634946")] // BAE Systems
    [InlineData("NL0010273215")] // ASML
    [InlineData("JP3633400001")] // Toyota
    public void IsValidIsin_RealIsin_True(string isin) => Assert.True(CheckDigits.IsValidIsin(isin));

    [Theory]
    [InlineData("US0378331006")]
    [InlineData("US037833100")]
    [InlineData("us0378331005")]
    [InlineData("1S0378331005")]
    [InlineData("US03783310A5")] // letter in the check digit position
    public void IsValidIsin_Corrupted_False(string isin) => Assert.False(CheckDigits.IsValidIsin(isin));

    [Fact]
    public void IsinCheckDigit_LettersInBody_ExpandsLettersBeforeLuhn() =>
        Assert.Equal(4, CheckDigits.IsinCheckDigit("US912828ZT0"));
}
